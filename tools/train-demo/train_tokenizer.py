#!/usr/bin/python3
"""Train the demo model's SentencePiece BPE tokenizer with Gemma's settings.

Reads work/spm_train.txt (training chapters only, one verse or heading per line; made by
prepare_corpus.py) and writes work/tokenizer.model (+ .vocab).

Gemma's tokenizer.model trainer_spec, reproduced at a 4,096-piece vocabulary:
  model_type BPE; byte_fallback (unknown characters become <0xNN> byte pieces);
  split_digits (every digit its own piece); add_dummy_prefix false (no leading U+2581);
  remove_extra_whitespaces false; normalization identity (no NFKC);
  split_by_whitespace / split_by_unicode_script / split_by_number true;
  allow_whitespace_only_pieces true; ids pad 0, eos 1, bos 2, unk 3;
  <start_of_turn> and <end_of_turn> as user-defined symbols (ids 4 and 5).
Resulting layout: 0-3 specials, 4-5 user-defined, 6-261 byte pieces <0x00>..<0xFF>,
262-4095 learned merges in score order.

BPE training in SentencePiece is deterministic for a fixed input (no sampling when
input_sentence_size is 0); we also pin the seed and use one thread.
"""
import os
import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, 'work')
VOCAB_SIZE = 4096


def main():
    if hasattr(spm, 'set_random_generator_seed'):
        spm.set_random_generator_seed(1234)
    spm.SentencePieceTrainer.train(
        input=os.path.join(WORK, 'spm_train.txt'),
        model_prefix=os.path.join(WORK, 'tokenizer'),
        model_type='bpe',
        vocab_size=VOCAB_SIZE,
        character_coverage=1.0,
        byte_fallback=True,
        split_digits=True,
        split_by_whitespace=True,
        split_by_unicode_script=True,
        split_by_number=True,
        treat_whitespace_as_suffix=False,
        allow_whitespace_only_pieces=True,
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        normalization_rule_name='identity',
        max_sentencepiece_length=16,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece='<pad>', eos_piece='<eos>', bos_piece='<bos>', unk_piece='<unk>',
        user_defined_symbols=['<start_of_turn>', '<end_of_turn>'],
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=1,
    )
    sp = spm.SentencePieceProcessor(model_file=os.path.join(WORK, 'tokenizer.model'))
    sample = 'In the beginning God created the heaven and the earth.\n'
    print('vocab', sp.get_piece_size(), 'sample', sp.encode(sample, out_type=str))


if __name__ == '__main__':
    main()
