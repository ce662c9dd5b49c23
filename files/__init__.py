"""Spreadsheet files in and out: the one safe writer (CSV, XLSX) and the limits every reader of an
untrusted file applies. The lowest layer: it imports no app of the project, and every app may import it."""
