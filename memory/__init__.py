"""The song store: described songs, their sections and windows, kept in Chroma (see `store`)."""
