"""One MailStore contract, run against every backend (Maildir and the real Dovecot)."""
