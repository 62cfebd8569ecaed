#!/usr/bin/python3
"""Train the gemma-ts demo model: Gemma 3 text architecture, ~5.6M parameters, on the KJV.

    /usr/bin/python3 train.py [--steps 800]

Needs work/train.jsonl, work/valid.jsonl (prepare_corpus.py) and work/tokenizer.model
(train_tokenizer.py). Writes work/ckpt.pt (float32 state_dict + config), work/tokens.pt
(the token streams) and work/train_summary.json; logs to stdout.

Data: every chapter is encoded as <bos> text <eos>; the chapters are concatenated into
one stream and each training sequence is a window of 257 tokens at a uniformly random
offset (256 inputs, 256 next-token targets). Everything random comes from seed 1234.
Optimiser: AdamW (betas 0.9/0.95, weight decay 0.1 on matrices only), linear warm-up
then cosine decay to 10% of the peak rate, gradient clipping at 1.0; float32 throughout.
"""
import argparse
import json
import math
import os
import time

# On a shared machine OpenMP's default spin-waiting makes each of torch's and OpenBLAS's
# parallel regions wait for a descheduled thread; passive waiting was 5-10x faster per
# step here under load. Must be set before torch is imported.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import sentencepiece as spm
import torch
import torch.nn.functional as F

from model import GemmaConfig, Gemma3ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, 'work')
SEED = 1234
BOS, EOS = 2, 1


def encode_docs(sp, path):
    """Concatenated [<bos> doc <eos>]* as a 1-D int64 tensor."""
    ids = []
    with open(path) as f:
        for line in f:
            ids.append(BOS)
            ids.extend(sp.encode(json.loads(line)))
            ids.append(EOS)
    return torch.tensor(ids, dtype=torch.int64)


def load_tokens(sp):
    path = os.path.join(WORK, 'tokens.pt')
    train = encode_docs(sp, os.path.join(WORK, 'train.jsonl'))
    valid = encode_docs(sp, os.path.join(WORK, 'valid.jsonl'))
    torch.save({'train': train, 'valid': valid}, path)
    return train, valid


@torch.no_grad()
def evaluate(model, stream, ctx, batch=16):
    """Mean next-token loss over the stream cut into consecutive non-overlapping windows
    of ctx + 1 tokens (each window predicts its last ctx tokens from at most ctx of
    context; the tail shorter than a window is dropped). Returns (loss, tokens)."""
    n = (len(stream) - 1) // ctx
    windows = torch.stack([stream[i * ctx: i * ctx + ctx + 1] for i in range(n)])
    total, count = 0.0, 0
    model.eval()
    for b in range(0, n, batch):
        w = windows[b:b + batch]
        logits = model(w[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1),
                                 reduction='sum').item()
        count += w[:, 1:].numel()
    model.train()
    return total / count, count


def lr_at(step, steps, peak, warmup, floor_frac=0.1):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (floor_frac + (1 - floor_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=800)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--ctx', type=int, default=256)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup', type=int, default=60)
    ap.add_argument('--eval-every', type=int, default=100)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--stop-after', type=int, default=None,
                    help='stop after this many steps, keeping the schedule of --steps '
                         '(reproduces a run that was cut short)')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(WORK, 'tokenizer.model'))
    train, valid = load_tokens(sp)
    print(f'tokens: train {len(train)}, valid {len(valid)}', flush=True)

    cfg = GemmaConfig(vocab_size=sp.get_piece_size())
    model = Gemma3ForCausalLM(cfg)
    gen = torch.Generator().manual_seed(SEED)
    model.init_weights(gen)
    n_params = sum(p.numel() for p in model.parameters())
    print(f'config {cfg.to_dict()}\nparameters {n_params}', flush=True)

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1},
                             {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    history = []
    t0 = time.time()
    smooth = None
    last = min(args.steps, args.stop_after or args.steps)
    for step in range(last):
        lr = lr_at(step, args.steps, args.lr, args.warmup)
        for g in opt.param_groups:
            g['lr'] = lr
        starts = torch.randint(0, len(train) - args.ctx - 1, (args.batch,), generator=gen)
        x = torch.stack([train[s: s + args.ctx + 1] for s in starts.tolist()])
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        smooth = loss.item() if smooth is None else 0.95 * smooth + 0.05 * loss.item()
        if step % 10 == 0:
            el = time.time() - t0
            print(f'step {step} loss {loss.item():.4f} smooth {smooth:.4f} lr {lr:.2e} '
                  f'elapsed {el:.0f}s ({el / (step + 1):.2f}s/step)', flush=True)
        if (step + 1) % args.eval_every == 0 or step + 1 == last:
            vl, _ = evaluate(model, valid, args.ctx)
            rec = {'step': step + 1, 'train_loss_smooth': smooth, 'val_loss': vl,
                   'val_ppl': math.exp(vl), 'elapsed_s': round(time.time() - t0)}
            history.append(rec)
            print('eval', json.dumps(rec), flush=True)
            torch.save({'config': cfg.to_dict(), 'state_dict': model.state_dict(), 'step': step + 1},
                       os.path.join(WORK, 'ckpt.pt'))

    elapsed = time.time() - t0
    tl, _ = evaluate(model, train[: len(valid) * 4], args.ctx)
    vl, vn = evaluate(model, valid, args.ctx)
    summary = {'parameters': n_params, 'steps': args.steps, 'stopped_after': last, 'batch': args.batch, 'ctx': args.ctx,
               'peak_lr': args.lr, 'threads': args.threads, 'train_seconds': round(elapsed),
               'train_tokens': len(train), 'valid_tokens': len(valid),
               'final_train_loss_sample': tl, 'final_train_ppl_sample': math.exp(tl),
               'final_val_loss': vl, 'final_val_ppl': math.exp(vl), 'val_tokens_scored': vn,
               'history': history, 'torch': torch.__version__}
    with open(os.path.join(WORK, 'train_summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print('done', json.dumps({k: v for k, v in summary.items() if k != 'history'}), flush=True)


if __name__ == '__main__':
    main()
