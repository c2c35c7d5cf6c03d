"""Where labels come from: label tables beside a corpus (``table``), SNOMED CT ``# Dx:`` comments and the
CinC scored classes (``snomed``), PTB-XL's SCP statements (``scp``). Rhythm annotations of long records
are read by :mod:`dacl.corpus.annotations`."""
