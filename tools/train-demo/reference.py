#!/usr/bin/python3
"""Reference fixtures for gemma-ts from the EXPORTED demo model (models/demo).

    /usr/bin/python3 reference.py

Loads models/demo/model.safetensors (BF16, widened exactly to float32/float64), runs the
PyTorch forward of model.py, and writes under test/fixtures/demo/:

  reference.json     index: the prompts, their token ids, logits file names and shapes,
                     the float32-vs-float64 error, a greedy continuation, and the
                     validation perplexity of the exported weights
  logits_<name>.f32  the full logits of one prompt: float32 little-endian, row-major
                     [positions, vocab] (row p = logits predicting token p + 1),
                     computed in float64 then rounded to float32
  sp_reference.json  >= 2,000 strings and the ids python sentencepiece gives for them
                     with models/demo/tokenizer.model (no <bos>/<eos> added)
"""
import json
import math
import os
import random
import sys
import unicodedata

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

from model import GemmaConfig, Gemma3ForCausalLM
from safetensors_io import read_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, 'work')
REPO = os.path.dirname(os.path.dirname(HERE))
MODEL_DIR = os.path.join(REPO, 'models', 'demo')
OUT = os.path.join(REPO, 'test', 'fixtures', 'demo')
BOS, EOS = 2, 1
CTX = 256

# Each prompt is long enough (>= 80 tokens with <bos>) that late positions' local layers
# see only the last 64 keys while the global layer (index 5) sees them all.
PROMPTS = {
    # Training text (Genesis 1 is in the training split), cut mid-verse.
    'genesis': 'Genesis 1\n1 In the beginning God created the heaven and the earth.\n'
               '2 And the earth was without form, and void; and darkness was upon the face of '
               'the deep. And the Spirit of God moved upon the face of the waters.\n'
               '3 And God said, Let there be light: and there was light.\n'
               '4 And God saw the light, that it was good: and God divided',
    # Held-out text: the opening words of the first validation chapter (Genesis 20),
    # filled in by heldout_opening().
    'heldout': None,
    # Off-distribution: the Gemma 3 chat format, digits, byte-fallback characters.
    'chat': '<start_of_turn>user\nWho was the first king of Israel? Answer briefly, and give '
            'the year 2024 too: café, naïve, 日本, 😀.<end_of_turn>\n'
            '<start_of_turn>model\nSaul the son of Kish was the first king over Israel.'
            '<end_of_turn>\n',
}
# Fixture size: each logits row is vocab * 4 = 16 KiB, so three prompts of ~82 tokens
# come to ~4 MB.
MIN_TOKENS, MAX_TOKENS = 80, 90
GREEDY_STEPS = 32


def load_exported(dtype):
    with open(os.path.join(MODEL_DIR, 'config.json')) as f:
        hf = json.load(f)
    fields = GemmaConfig.__dataclass_fields__
    cfg = GemmaConfig(**{k: v for k, v in hf.items() if k in fields})
    model = Gemma3ForCausalLM(cfg)
    state = read_safetensors(os.path.join(MODEL_DIR, 'model.safetensors'))
    missing = set(model.state_dict()) ^ set(state)
    if missing:
        sys.exit(f'state_dict mismatch: {sorted(missing)}')
    model.load_state_dict(state)
    return model.to(dtype).eval(), cfg, hf


def heldout_opening(sp, min_tokens=MIN_TOKENS + 2):
    """The shortest word-aligned opening of the first validation chapter that makes
    min_tokens tokens with <bos>."""
    with open(os.path.join(WORK, 'valid.jsonl')) as f:
        doc = json.loads(f.readline())
    end = 0
    while len(sp.encode(doc[:end])) + 1 < min_tokens:
        end = doc.index(' ', end + 1)
    return doc[:end]


@torch.no_grad()
def logits_of(model, ids):
    return model(torch.tensor([ids]))[0]  # [T, V]


@torch.no_grad()
def greedy(model, ids, steps):
    """Greedy continuation (no KV cache: re-run the prefix each step, float64), with the
    gap between the best and second-best logit at each step."""
    ids, out, gaps = list(ids), [], []
    for _ in range(steps):
        last = logits_of(model, ids)[-1]
        top = torch.topk(last, 2)
        nxt = int(top.indices[0])
        out.append(nxt)
        gaps.append(float(top.values[0] - top.values[1]))
        ids.append(nxt)
        if nxt == EOS:
            break
    return out, gaps


@torch.no_grad()
def perplexity(model, stream, batch=8):
    """Same measure as train.py: consecutive non-overlapping windows of CTX + 1 tokens."""
    n = (len(stream) - 1) // CTX
    total, count = 0.0, 0
    for b in range(0, n, batch):
        w = torch.stack([stream[i * CTX: i * CTX + CTX + 1] for i in range(b, min(n, b + batch))])
        lg = model(w[:, :-1])
        total += F.cross_entropy(lg.reshape(-1, lg.shape[-1]).float(), w[:, 1:].reshape(-1),
                                 reduction='sum').item()
        count += w[:, 1:].numel()
    return total / count, count


def encode_stream(sp, path):
    ids = []
    with open(path) as f:
        for line in f:
            ids += [BOS] + sp.encode(json.loads(line)) + [EOS]
    return torch.tensor(ids, dtype=torch.int64)


# ---------------------------------------------------------------- tokenizer strings

def sp_strings(valid_docs, rng):
    """A fixed (seeded) list of test strings covering the encoder's corner cases."""
    out = ['']
    words = ' '.join(valid_docs).split()
    verses = [l for d in valid_docs for l in d.splitlines()]
    blob = ''.join(valid_docs)
    # single characters: every ASCII code point except NUL, and a few others
    out += [chr(c) for c in range(1, 128)]
    out += list('é€£§©®™…—–‘’“”«»¿¡ßøæœ')
    # real text, as it is and as cut at random places (mid-word, mid-line)
    out += rng.sample(verses, 250)
    for _ in range(250):
        a = rng.randrange(len(blob) - 200)
        out.append(blob[a: a + rng.randrange(1, 200)])
    # words joined with random whitespace: multiple spaces, tabs, newlines, CR, leading/trailing
    ws = [' ', '  ', '   ', '    ', '\t', '\n', '\n\n', ' \n', '\t\t', '\r\n', '        ']
    for _ in range(300):
        parts = [rng.choice(ws) if rng.random() < 0.2 else '']
        for _ in range(rng.randrange(1, 10)):
            parts.append(rng.choice(words))
            parts.append(rng.choice(ws) if rng.random() < 0.5 else ' ')
        if rng.random() < 0.5:
            parts.pop()
        out.append(''.join(parts))
    # digits and numbers
    for _ in range(150):
        k = rng.randrange(6)
        if k == 0:
            out.append(str(rng.randrange(10 ** rng.randrange(1, 20))))
        elif k == 1:
            out.append(f'{rng.uniform(-1e6, 1e6):.{rng.randrange(0, 8)}f}')
        elif k == 2:
            out.append(f'{rng.randrange(1, 150)}:{rng.randrange(1, 180)}')
        elif k == 3:
            out.append(f'{rng.randrange(2000, 2100)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}')
        elif k == 4:
            out.append(f'{rng.choice(words)}{rng.randrange(1000)} {rng.randrange(100)}{rng.choice(words)}')
        else:
            out.append('0x' + ''.join(rng.choice('0123456789abcdefABCDEF') for _ in range(rng.randrange(1, 17))))
    # code
    code = [
        'def f(x):\n    return x * 2\n', 'for (let i = 0; i < n; i++) {\n\tsum += a[i];\n}',
        'const y = await fetch("https://example.com/a?b=1&c=2");', '#include <stdio.h>\nint main(void) { return 0; }',
        'SELECT * FROM t WHERE id = 42;', '{"key": [1, 2.5, null, true], "s": "x\\ny"}',
        'if x != None and y >= 3:\n        pass', '<div class="a">Hello</div>', 'x => x ** 2 // square',
        'fn main() { println!("{}", 1 + 1); }', '$ ls -la | grep "\\.ts$"', 'a_b_c = __init__(self, *args, **kwargs)',
    ]
    for _ in range(120):
        c = rng.choice(code)
        out.append(c if rng.random() < 0.5 else c.replace('    ', '\t') + rng.choice(['', '\n', '  ']))
    # other scripts, emoji, combining marks (byte fallback: none of these are in the vocab)
    samples = [
        '日本語のテキスト', '中文字符测试', '한국어 문장', 'Привет, мир!', 'Ελληνικά γράμματα',
        'مرحبا بالعالم', 'שלום עולם', 'हिन्दी पाठ', 'ภาษาไทย', 'Tiếng Việt có dấu',
        '😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷', 'e\u0301 a\u0300 o\u0302 n\u0303 u\u0308', 'Z\u0351\u036b\u0343a\u0310\u0364l\u0352go',
        '\u00a0non-breaking\u00a0space', 'zero\u200bwidth\u200cjoin\u200d', '\ufeffBOM', 'tab\there\u3000ideographic space',
        'ﬁ ligature', '①②③ ⅣⅤ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math', '\u2581already a meta space', '▁▁▁',
    ]
    for _ in range(250):
        s = rng.choice(samples)
        if rng.random() < 0.5:
            s = rng.choice(words) + rng.choice([' ', '', '\n']) + s
        if rng.random() < 0.3:
            s = s + ' ' + rng.choice(words)
        out.append(s)
    for _ in range(200):  # random code points from assorted blocks
        blocks = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff),
                  (0x900, 0x97f), (0x3040, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3),
                  (0x1f300, 0x1f64f), (0x300, 0x36f), (0x2000, 0x206f)]
        chars = []
        for _ in range(rng.randrange(1, 16)):
            lo, hi = rng.choice(blocks)
            chars.append(chr(rng.randrange(lo, hi + 1)))
        out.append(''.join(chars))
    # long runs
    for ch in [' ', '\n', '\t', 'a', 'e', '!', '.', '1', '0', '-', '=', '*', 'ab', 'the ', '😀', '日']:
        for n in (2, 3, 5, 8, 17, 33, 64, 100):
            out.append(ch * n)
    # chat-format and special-looking text: only the two user-defined symbols are matched in
    # text; <bos>, <eos>, <pad>, <unk> and <0x41> are control/byte pieces and stay plain text
    specials = ['<start_of_turn>', '<end_of_turn>', '<bos>', '<eos>', '<pad>', '<unk>', '<0x41>',
                '<start_of_turn', 'start_of_turn>', '<start_of_image>', '<end_of_turn><end_of_turn>']
    for _ in range(200):
        k = rng.randrange(3)
        if k == 0:
            role = rng.choice(['user', 'model', 'system'])
            out.append(f'<start_of_turn>{role}\n{rng.choice(verses)}<end_of_turn>\n')
        elif k == 1:
            out.append(rng.choice(specials) + rng.choice(['', ' ', '\n']) + rng.choice(words))
        else:
            out.append(rng.choice(words) + rng.choice(specials) + rng.choice(words) + rng.choice(specials))
    # a few long mixed strings
    for _ in range(40):
        out.append(''.join(rng.choice([rng.choice(verses), rng.choice(samples), rng.choice(code),
                                       rng.choice(ws), rng.choice(specials)]) for _ in range(12)))
    return out


def write_sp_reference(sp, valid_docs):
    rng = random.Random(20240521)
    strings = sp_strings(valid_docs, rng)
    cases = []
    for s in strings:
        ids = sp.encode(s)
        case = {'text': s, 'ids': ids}
        decoded = sp.decode(ids)
        if decoded != s:
            # Only text that already contains U+2581 (the meta space): it encodes like a
            # space and decodes to one.
            if '\u2581' not in s:
                sys.exit(f'sentencepiece does not round-trip {s!r}')
            case['decoded'] = decoded
        cases.append(case)
    doc = {
        '_about': 'Token ids from Debian python3-sentencepiece ' + spm.__version__ +
                  ' SentencePieceProcessor(model_file=models/demo/tokenizer.model).encode(text) '
                  '(no <bos>/<eos> added; out_type=int). decode(ids) == text for every case '
                  'except those with a "decoded" field (text containing U+2581, which '
                  'SentencePiece decodes as a space). Strings are generated with a fixed seed by '
                  'tools/train-demo/reference.py.',
        'tokenizer_model': 'models/demo/tokenizer.model',
        'sentencepiece_version': spm.__version__,
        'count': len(cases),
        'cases': cases,
    }
    with open(os.path.join(OUT, 'sp_reference.json'), 'w') as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
        f.write('\n')
    return len(cases)


# ---------------------------------------------------------------- main

def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, 'tokenizer.model'))
    with open(os.path.join(WORK, 'valid.jsonl')) as f:
        valid_docs = [json.loads(l) for l in f]
    n_sp = write_sp_reference(sp, valid_docs)
    print(f'sp_reference.json: {n_sp} strings', flush=True)

    m32, cfg, hf = load_exported(torch.float32)
    m64, _, _ = load_exported(torch.float64)
    prompts = dict(PROMPTS)
    prompts['heldout'] = heldout_opening(sp)

    entries = []
    for name, text in prompts.items():
        ids = [BOS] + sp.encode(text)
        if not MIN_TOKENS <= len(ids) <= MAX_TOKENS:
            sys.exit(f'prompt {name} has {len(ids)} tokens, want {MIN_TOKENS}..{MAX_TOKENS}')
        l64 = logits_of(m64, ids)
        l32 = logits_of(m32, ids).double()
        ls64, ls32 = F.log_softmax(l64, -1), F.log_softmax(l32, -1)
        err32 = float((ls32 - ls64).abs().max())
        ref = l64.to(torch.float32).numpy().astype('<f4')
        fname = f'logits_{name}.f32'
        ref.tofile(os.path.join(OUT, fname))
        err_rounded = float((F.log_softmax(torch.from_numpy(ref).double(), -1) - ls64).abs().max())
        cont, gaps = greedy(m64, ids, GREEDY_STEPS) if name != 'chat' else ([], [])
        entries.append({
            'name': name, 'text': text, 'ids': ids, 'n_tokens': len(ids),
            'logits_file': fname, 'shape': list(ref.shape),
            'f32_vs_f64_max_abs_logsoftmax_err': err32,
            'stored_vs_f64_max_abs_logsoftmax_err': err_rounded,
            'argmax': [int(i) for i in l64.argmax(-1)],
            'greedy_continuation': cont, 'greedy_min_top2_gap': min(gaps) if gaps else None,
            'greedy_text': sp.decode(cont) if cont else None,
        })
        print(f'{name}: {len(ids)} tokens, f32 err {err32:.2e}, greedy {sp.decode(cont)!r}', flush=True)

    valid = encode_stream(sp, os.path.join(WORK, 'valid.jsonl'))
    vl, vn = perplexity(m32, valid)
    print(f'validation perplexity (exported bf16 weights, f32 compute): {math.exp(vl):.3f}', flush=True)
    index = {
        '_about': 'Reference outputs of the exported demo model, from tools/train-demo/reference.py: '
                  'models/demo/model.safetensors (BF16) widened exactly to float64, forward pass of '
                  'tools/train-demo/model.py (PyTorch ' + torch.__version__ + ') in float64; the stored '
                  'logits are that result rounded to float32. Each logits file is raw float32 '
                  'little-endian, row-major [n_tokens, vocab_size]: row p holds the logits after '
                  'reading ids[0..p] (the distribution of token p+1). No headers. Compare '
                  'log_softmax over each row; the f32 forward of the same model differs from the '
                  'f64 one by f32_vs_f64_max_abs_logsoftmax_err. Prompts start with <bos> (id 2) and '
                  'ids come from python sentencepiece on models/demo/tokenizer.model, so the text '
                  'encodes to ids[1:]. argmax is per row; greedy_continuation is the float64 greedy '
                  'decode (no sampling) of the next tokens, stopping at <eos>.',
        'model_dir': 'models/demo',
        'vocab_size': cfg.vocab_size,
        'dtype': 'float32',
        'endianness': 'little',
        'layout': 'row-major [n_tokens, vocab_size]',
        'prompts': entries,
        'perplexity': {
            'split': 'validation: every 20th KJV chapter (tools/train-demo/prepare_corpus.py)',
            'method': f'chapters encoded as <bos> text <eos> and concatenated; consecutive '
                      f'non-overlapping windows of {CTX + 1} tokens, each scoring its last {CTX} '
                      f'tokens; exported bf16 weights, float32 compute',
            'tokens_scored': vn, 'mean_nll': vl, 'perplexity': math.exp(vl),
        },
    }
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(index, f, ensure_ascii=False, indent=1)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f'fixtures: {total} bytes in {OUT}')


if __name__ == '__main__':
    main()
