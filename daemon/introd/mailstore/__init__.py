"""Mail stores: one Protocol (base.py), an IMAP and a Maildir backend."""
