"""Object storage through fsspec (s3:// with s3fs, gs://, file://, ...): where a URL points, copies of remote
datasets and models in the local cache, and the upload destination check. Light: no torch here."""
