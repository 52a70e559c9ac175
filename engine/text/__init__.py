"""What turns a recognizer's text into the finished text; pure Python, no torch or funasr.

- ``itn``: inverse text normalization (一百二十三 → 123) on WeTextProcessing's grammars;
- ``tidy``: spacing between Chinese and Latin text, full-width punctuation, the final stop;
- ``rules``: the user's replacement rules (literal and regex), applied last;
- ``hotwords``: the hotword list for SeACo-Paraformer, from a string or a file;
- ``chain``: ``TextChain``, the three text steps in order, as one ``finish(text)``.
"""
