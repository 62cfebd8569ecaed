#!/usr/bin/python3
"""Dump the King James Bible with Debian's `bible` program and split it into chapters.

Each chapter becomes one document:

    Genesis 1
    1 In the beginning God created the heaven and the earth.
    2 And the earth was without form, ...
    ...

(heading line, then one line per verse "N text", every line ending in "\n").
Training adds <bos> before and <eos> after each document, so the model learns to stop
at the end of a chapter.

Held-out validation split: every 20th chapter in canonical order (chapter index
i with i % 20 == 19), i.e. 59 of the 1,189 chapters. The split is fixed, not random.

Outputs (under work/, gitignored):
    work/train.jsonl, work/valid.jsonl  one JSON string (a chapter) per line
    work/spm_train.txt                 the training chapters' lines, for SentencePiece
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, 'work')
VALID_EVERY = 20

# The 66 books in canonical KJV order. `bible -f` prints its own abbreviations
# (Ge, Exo, ..., Rev); they appear in this order, so the n-th distinct one is BOOKS[n].
BOOKS = [
    'Genesis', 'Exodus', 'Leviticus', 'Numbers', 'Deuteronomy', 'Joshua', 'Judges', 'Ruth',
    '1 Samuel', '2 Samuel', '1 Kings', '2 Kings', '1 Chronicles', '2 Chronicles', 'Ezra',
    'Nehemiah', 'Esther', 'Job', 'Psalms', 'Proverbs', 'Ecclesiastes', 'Song of Solomon',
    'Isaiah', 'Jeremiah', 'Lamentations', 'Ezekiel', 'Daniel', 'Hosea', 'Joel', 'Amos',
    'Obadiah', 'Jonah', 'Micah', 'Nahum', 'Habakkuk', 'Zephaniah', 'Haggai', 'Zechariah',
    'Malachi', 'Matthew', 'Mark', 'Luke', 'John', 'Acts', 'Romans', '1 Corinthians',
    '2 Corinthians', 'Galatians', 'Ephesians', 'Philippians', 'Colossians',
    '1 Thessalonians', '2 Thessalonians', '1 Timothy', '2 Timothy', 'Titus', 'Philemon',
    'Hebrews', 'James', '1 Peter', '2 Peter', '1 John', '2 John', '3 John', 'Jude',
    'Revelation',
]

VERSE_LINE = re.compile(r'^(\w+?)(\d+):(\d+) (.*)$')


def dump_kjv():
    """The whole text, one verse per line: 'Ge1:1 In the beginning ...'.
    -f turns pretty-printing off (one verse per line with its reference)."""
    out = subprocess.run(['bible', '-f', 'gen1:1-rev22:21'], check=True,
                         capture_output=True, text=True).stdout
    return out.splitlines()


def split_chapters(lines):
    """[(book, chapter, [(verse, text)])] in canonical order."""
    chapters = []
    abbrevs = []
    for line in lines:
        m = VERSE_LINE.match(line)
        if not m:
            sys.exit(f'unexpected line from bible: {line!r}')
        abbrev, ch, vs, text = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        if not abbrevs or abbrevs[-1] != abbrev:
            abbrevs.append(abbrev)
        book = BOOKS[len(abbrevs) - 1]
        if not chapters or chapters[-1][0] != book or chapters[-1][1] != ch:
            chapters.append((book, ch, []))
        chapters[-1][2].append((vs, text.strip()))
    if len(abbrevs) != 66:
        sys.exit(f'expected 66 books, got {len(abbrevs)}')
    return chapters


def chapter_text(book, ch, verses):
    return f'{book} {ch}\n' + ''.join(f'{v} {t}\n' for v, t in verses)


def main():
    os.makedirs(WORK, exist_ok=True)
    chapters = split_chapters(dump_kjv())
    train, valid = [], []
    for i, (book, ch, verses) in enumerate(chapters):
        (valid if i % VALID_EVERY == VALID_EVERY - 1 else train).append(chapter_text(book, ch, verses))
    for name, docs in (('train', train), ('valid', valid)):
        with open(os.path.join(WORK, f'{name}.jsonl'), 'w') as f:
            for d in docs:
                f.write(json.dumps(d) + '\n')
    with open(os.path.join(WORK, 'spm_train.txt'), 'w') as f:
        for d in train:
            f.write(d)
    nverses = sum(len(v) for _, _, v in chapters)
    print(f'{len(chapters)} chapters, {nverses} verses; train {len(train)} chapters '
          f'({sum(map(len, train))} chars), valid {len(valid)} chapters ({sum(map(len, valid))} chars)')


if __name__ == '__main__':
    main()
