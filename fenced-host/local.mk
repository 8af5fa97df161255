# fenced-host: see README.md in this folder
