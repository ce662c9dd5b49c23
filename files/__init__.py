"""Spreadsheet files in and out: the one safe writer (CSV, XLSX) and the limits every reader of an
untrusted file applies.

Owns no table and writes nothing to the database. Every app may import it.

May import: none.
"""
