"""Output writers: one `SongAnalysis` as the files other tools read (JSON, Markdown, JAMS,
.lab, a PNG timeline, HTML liner notes). Presentation only: nothing here analyses audio."""
