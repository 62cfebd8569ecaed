#!/usr/bin/python3
"""Export the trained checkpoint (work/ckpt.pt) as a Hugging Face style model directory.

    /usr/bin/python3 export.py [--out ../../models/demo]

Writes config.json (gemma3_text), generation_config.json, model.safetensors (BF16),
tokenizer.model (the SentencePiece file from train_tokenizer.py), tokenizer_config.json
(with the Gemma 3 chat template) and special_tokens_map.json.

model.safetensors is written by safetensors_io.write_safetensors (the `safetensors`
package is not used): an 8-byte little-endian header length, a JSON header
{name: {dtype, shape, data_offsets}}, then the raw little-endian tensor bytes.
Float32 weights are rounded to bfloat16 with round-to-nearest-even (torch's cast).
The head is tied, so there is no lm_head.weight, as in Google's Gemma 3 checkpoints.
"""
import argparse
import json
import os
import shutil

import torch

from model import GemmaConfig
from safetensors_io import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, 'work')
REPO = os.path.dirname(os.path.dirname(HERE))
CHAT_TEMPLATE = os.path.join(os.path.dirname(REPO), 'shared', 'fixtures', 'chat-templates',
                             'gemma-3-it.jinja')

PAD, EOS, BOS, UNK, START_OF_TURN, END_OF_TURN = 0, 1, 2, 3, 4, 5


def hf_config(cfg: GemmaConfig):
    return {
        'architectures': ['Gemma3ForCausalLM'],
        'model_type': 'gemma3_text',
        'vocab_size': cfg.vocab_size,
        'hidden_size': cfg.hidden_size,
        'intermediate_size': cfg.intermediate_size,
        'num_hidden_layers': cfg.num_hidden_layers,
        'num_attention_heads': cfg.num_attention_heads,
        'num_key_value_heads': cfg.num_key_value_heads,
        'head_dim': cfg.head_dim,
        'max_position_embeddings': cfg.max_position_embeddings,
        'rms_norm_eps': cfg.rms_norm_eps,
        'rope_theta': cfg.rope_theta,
        'rope_local_base_freq': cfg.rope_local_base_freq,
        'rope_scaling': None,
        'sliding_window': cfg.sliding_window,
        'sliding_window_pattern': cfg.sliding_window_pattern,
        'layer_types': cfg.layer_types(),
        'query_pre_attn_scalar': cfg.query_pre_attn_scalar,
        'hidden_activation': 'gelu_pytorch_tanh',
        'final_logit_softcapping': None,
        'attn_logit_softcapping': None,
        'attention_bias': False,
        'attention_dropout': 0.0,
        'initializer_range': 0.02,
        'use_cache': True,
        'pad_token_id': PAD,
        'eos_token_id': EOS,
        'bos_token_id': BOS,
        'tie_word_embeddings': True,
        'torch_dtype': 'bfloat16',
    }


def added_token(content):
    return {'content': content, 'lstrip': False, 'normalized': False, 'rstrip': False,
            'single_word': False, 'special': True}


def tokenizer_config(chat_template, max_len):
    specials = ['<pad>', '<eos>', '<bos>', '<unk>', '<start_of_turn>', '<end_of_turn>']
    return {
        'add_bos_token': True,
        'add_eos_token': False,
        'added_tokens_decoder': {str(i): added_token(s) for i, s in enumerate(specials)},
        'additional_special_tokens': ['<start_of_turn>', '<end_of_turn>'],
        'bos_token': '<bos>',
        'eos_token': '<eos>',
        'pad_token': '<pad>',
        'unk_token': '<unk>',
        'chat_template': chat_template,
        'clean_up_tokenization_spaces': False,
        'model_max_length': max_len,
        'sp_model_kwargs': {},
        'spaces_between_special_tokens': False,
        'tokenizer_class': 'GemmaTokenizer',
        'use_default_system_prompt': False,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(REPO, 'models', 'demo'))
    ap.add_argument('--ckpt', default=os.path.join(WORK, 'ckpt.pt'))
    args = ap.parse_args()
    ckpt = torch.load(args.ckpt)
    cfg = GemmaConfig(**ckpt['config'])
    os.makedirs(args.out, exist_ok=True)

    tensors = {name: t.to(torch.bfloat16) for name, t in ckpt['state_dict'].items()}
    write_safetensors(os.path.join(args.out, 'model.safetensors'), tensors,
                      metadata={'format': 'pt'})

    def dump(name, obj):
        with open(os.path.join(args.out, name), 'w') as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write('\n')

    dump('config.json', hf_config(cfg))
    dump('generation_config.json', {'bos_token_id': BOS, 'eos_token_id': [EOS, END_OF_TURN],
                                    'pad_token_id': PAD})
    with open(CHAT_TEMPLATE) as f:
        chat_template = f.read()
    dump('tokenizer_config.json', tokenizer_config(chat_template, cfg.max_position_embeddings))
    dump('special_tokens_map.json', {
        'additional_special_tokens': ['<start_of_turn>', '<end_of_turn>'],
        'bos_token': '<bos>', 'eos_token': '<eos>', 'pad_token': '<pad>', 'unk_token': '<unk>'})
    shutil.copyfile(os.path.join(WORK, 'tokenizer.model'), os.path.join(args.out, 'tokenizer.model'))
    print(f'exported step {ckpt["step"]} to {args.out}: ' +
          ', '.join(f'{n} {os.path.getsize(os.path.join(args.out, n))}B' for n in sorted(os.listdir(args.out))))


if __name__ == '__main__':
    main()
