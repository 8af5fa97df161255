# keys: see README.md in this folder
