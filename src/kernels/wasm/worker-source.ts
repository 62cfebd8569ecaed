/**
 * The code of a pool worker, as a self-contained string: Node runs it with
 * `new Worker(src, { eval: true, workerData })`, browsers from a Blob URL (the data then
 * comes in the first message). It instantiates the kernels on the shared memory, says
 * 'ready', and loops: spin on the generation word (then sleep in Atomics.wait after
 * spinMs), and call run(job, generation, id), which claims chunks of the job until none are
 * left. Control words: jobs.ts CTRL.
 */
export const WORKER_SOURCE = `
'use strict';
const GEN = 0, SLEEPERS = 2, ERR = 3, QUIT = 4;
function start(d, post) {
  let run, c;
  try {
    const inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
    run = inst.exports.run;
    c = new Int32Array(d.memory.buffer, d.ctrl, 16);
  } catch (e) {
    post('error:' + (e && e.message || e));
    return;
  }
  const id = d.id, job = d.job, spinMs = d.spinMs;
  let last = Atomics.load(c, GEN);
  post('ready');
  for (;;) {
    let g = Atomics.load(c, GEN);
    if (g === last) {
      let t0 = performance.now(), n = 0;
      while ((g = Atomics.load(c, GEN)) === last) {
        if ((++n & 1023) !== 0) continue;
        if (performance.now() - t0 < spinMs) continue;
        Atomics.add(c, SLEEPERS, 1);
        Atomics.wait(c, GEN, last);
        Atomics.sub(c, SLEEPERS, 1);
        t0 = performance.now();
      }
    }
    last = g;
    if (Atomics.load(c, QUIT)) return;
    try {
      run(job, g, id);
    } catch (e) {
      Atomics.store(c, ERR, id);
    }
  }
}
if (typeof require === 'function' && typeof process !== 'undefined' && process.versions && process.versions.node) {
  const wt = require('node:worker_threads');
  start(wt.workerData, (m) => wt.parentPort.postMessage(m));
} else {
  self.onmessage = (e) => { self.onmessage = null; start(e.data, (m) => self.postMessage(m)); };
}
`;
