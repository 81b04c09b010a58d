"""Describing many songs: collect the inputs, skip what is done, run the songs in worker
processes (or on Ray), write each song's outputs and a manifest, and sum up."""
