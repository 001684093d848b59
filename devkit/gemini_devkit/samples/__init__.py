"""Sample media made on the fly (no binaries in git): single files and whole seeded days."""
