"""The moods a mood model scores and what their scores mean: the nine emotions of the
Geneva Emotional Music Scale (emotify's listeners) and the valence-arousal plane (FME-24's).
A leaf module with no imports, so the search path reads the names without loading
anything."""

#: the nine GEMS emotions, in emotify's column order
EMOTIONS = ("amazement", "solemnity", "tenderness", "nostalgia", "calmness", "power",
            "joyful_activation", "tension", "sadness")  # fmt: skip
#: the two dimensions of the valence-arousal plane (FME-24's annotations)
DIMENSIONS = ("valence", "arousal")
#: everything a mood model scores, in its output order
MOODS = EMOTIONS + DIMENSIONS

#: what each mood's score means, for the vocabulary and the model's config
MEANINGS = {
    **{e: f"calibrated probability that at least 30% of listeners would say the music "
          f"makes them feel {e.replace('_', ' ')} (GEMS; emotify's listeners)"
       for e in EMOTIONS},
    "valence": "predicted mean placement of the music by listeners from -1 (negative, dark) "
               "to 1 (positive, bright) (FME-24's film-music listeners)",
    "arousal": "predicted mean placement of the music by listeners from -1 (calm, low "
               "energy) to 1 (excited, high energy) (FME-24's film-music listeners)",
}  # fmt: skip
