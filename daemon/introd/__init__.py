"""introd: an IMAP daemon that keeps business introductions moving."""

__version__ = "0.1.0"
