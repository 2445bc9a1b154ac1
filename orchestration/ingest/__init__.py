"""Release ingestion: detect a file's format, parse it with a pure function, land it in raw.*"""
