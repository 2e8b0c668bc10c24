"""Street-type words, as data: what may end a street name in an address.

USPS Publication 28's street suffixes (Appendix C1: the primary names and their common
abbreviations), the British ones it lacks ("close", "rise", "vale", "wharf"...), and a few
English spellings of others ("harbour", "centre"). A word list, not a detector: the redactor's
address finder and the residual verifier's own address rule each use it their own way.
"""

STREET_TYPES = frozenset((
    "allee", "alley", "aly", "anex", "annex", "approach", "arcade", "av", "ave", "avenue",
    "bayou", "beach", "bend", "bluff", "bluffs", "blvd", "bottom", "boulevard", "branch",
    "bridge", "brook", "brooks", "burg", "burgs", "bypass", "camp", "canyon", "cape", "causeway",
    "center", "centers", "centre", "chase", "cir", "circle", "circles", "cliff", "cliffs",
    "close", "club", "common", "commons", "corner", "corners", "course", "court", "courts",
    "cove", "coves", "creek", "cres", "crescent", "crest", "croft", "crossing", "crossroad", "ct",
    "curve", "dale", "dam", "divide", "dr", "drive", "drives", "drove", "embankment", "estate",
    "estates", "expressway", "extension", "extensions", "falls", "ferry", "field", "fields",
    "flats", "ford", "fords", "forest", "forge", "forges", "fork", "forks", "fort", "freeway",
    "garden", "gardens", "gateway", "glen", "glens", "green", "greens", "grove", "groves",
    "harbor", "harbors", "harbour", "haven", "heights", "highway", "hill", "hills", "hollow",
    "hwy", "inlet", "island", "islands", "isle", "junction", "junctions", "key", "keys", "knoll",
    "knolls", "lake", "lakes", "landing", "lane", "ln", "lodge", "loop", "mall", "manor",
    "manors", "meadow", "meadows", "mews", "mill", "mills", "mission", "motorway", "mount",
    "mountain", "mountains", "neck", "orchard", "oval", "overpass", "parade", "park", "parks",
    "parkway", "parkways", "pass", "passage", "path", "pike", "pines", "pkwy", "pl", "place",
    "plain", "plains", "plaza", "point", "points", "port", "ports", "prairie", "radial", "ramp",
    "ranch", "rapid", "rapids", "rd", "ridge", "ridges", "rise", "river", "road", "roads",
    "route", "row", "run", "shoal", "shoals", "shore", "shores", "skyway", "spring", "springs",
    "spur", "spurs", "sq", "square", "squares", "st", "station", "stravenue", "stream", "street",
    "streets", "summit", "ter", "terrace", "throughway", "trace", "track", "trafficway", "trail",
    "trl", "tunnel", "turnpike", "underpass", "union", "unions", "vale", "valley", "valleys",
    "viaduct", "view", "views", "village", "villages", "ville", "vista", "walk", "walks", "wall",
    "way", "ways", "well", "wells", "wharf", "yard",
))  # fmt: skip
