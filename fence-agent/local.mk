# fence-agent: see README.md in this folder
