"""Tingxie (听写): push-to-talk dictation with an embedded speech-recognition service."""

__version__ = "0.1.0"
