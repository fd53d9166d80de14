"""The tags of the pretrained taggers the musicnn wheel ships, in their output order:
MagnaTagATune's (``MTT_musicnn``, ``MTT_vgg``) and the Million Song Dataset's
(``MSD_musicnn``, ``MSD_vgg``). A leaf module with no imports, so the search path reads the
words without loading anything."""

MTT_LABELS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip
MSD_LABELS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip
#: every checkpoint of the wheel -> its tags (the VGG ones share their data set's tags)
PRETRAINED = {"MTT_musicnn": MTT_LABELS, "MSD_musicnn": MSD_LABELS,
              "MTT_vgg": MTT_LABELS, "MSD_vgg": MSD_LABELS}  # fmt: skip
