"""Every default of the project, defined once.

The command line (`wikiel.cli`) and the stage functions take their defaults from here, and project.yml's vars
repeat them (tests/test_cli.py checks that every option project.yml passes has the same default here). The model's
hyperparameters live in configs/nel.cfg; the values the training code sets (epochs, evaluation frequency, seed,
language, vectors) are not in that file.
"""

# ---- inputs -------------------------------------------------------------------------------------------------------
SOURCE = "world"  # world (generated, offline) | dumps (download the real dumps) | excerpts (../shared/data)
KB = "wikidata"  # wikidata | custom (your own knowledge graph)
LANG = "en"
DUMP_DATE = "latest"
WIKIDATA_FORMAT = "gz"
EXCERPTS_DIR = "../shared/data"  # relative to the project directory
# Dumps already on disk, used as they are (no copy, no download); relative paths are relative to the project
# directory. WIKIDATA_DUMP: one or more files, comma-separated, in order. Empty: the route of SOURCE.
WIKIDATA_DUMP = ""
WIKIPEDIA_DUMP = ""
WIKIPEDIA_INDEX = ""  # optional: the multistream index of WIKIPEDIA_DUMP
# Where --source dumps downloads from: Wikimedia's site or a mirror with the same paths under another base URL
DUMP_SITE = "https://dumps.wikimedia.org"
REDOWNLOAD = False  # --source dumps: replace local dump files that differ from the server's (never silently)
DOWNLOAD_RETRIES = 5  # a dropped connection is resumed (HTTP Range) this many times before the step gives up
BENCHMARKS_DIR = "../shared/data/benchmarks"
# --kb custom: the worked example (examples/custom_kb), so that `--vars.kb custom` alone runs it
CUSTOM_ENTITIES = "examples/custom_kb/entities.jsonl"
CUSTOM_MENTIONS = "examples/custom_kb/mentions.jsonl"
# ontology entity files (CTD TSV, OBO): the synonym scopes that become aliases, and what an OBO term's type is
ALIAS_SCOPES = "EXACT,RELATED"  # NARROW and BROAD synonyms name other concepts
OBO_TYPES = "namespace"  # namespace (else default-namespace, else id prefix) | branch (top-level is_a ancestor)
# custom KB: a span whose text is not a plausible surface form of its entity (cut inside a word, no name or alias
# of it) is reported and counted; strict_spans makes the first one an error
STRICT_SPANS = False
SEED = 0
N_PROCESS = 0  # 0 = all cores
SCHEDULER = ""  # parse steps: a Dask scheduler address (tcp://host:8786) or scheduler file; "" = this machine

# ---- the synthetic world ----------------------------------------------------------------------------------------
WORLD_ENTITIES = 8000
WORLD_ARTICLES = 2000
WORLD_ZIPF = 0.85  # popularity exponent of the generated world (either shape)
WORLD_SHAPE = "small"  # small (the default world) | wikipedia (Wikipedia-like ambiguity and popularity at any size)

# ---- parsing ------------------------------------------------------------------------------------------------------
MAX_BAD_LINES = 1000  # malformed Wikidata lines skipped before failing
DEV_PERCENT = 10.0  # share of articles (by title hash) in dev; dev articles never feed the priors
MAX_TRAIN_ARTICLES = 0  # 0 = all
MAX_DEV_ARTICLES = 0
MAX_COUNTER_ENTRIES = 2_000_000  # entries of a count table kept in memory before spilling to disk

# ---- knowledge base -----------------------------------------------------------------------------------------------
# The reference (spaCy 2019) used min_freq 20 and min_pair 5 on the full English Wikipedia; these suit the small
# default world and are raised with --vars.min_freq / --vars.min_pair for the real dumps.
MIN_FREQ = 5
MIN_PAIR = 3
MAX_PER_ALIAS = 10
MAX_ENTITIES = 1_000_000
MAX_ALIASES = 1_500_000
VECTOR_DIM = 64
VECTOR_EPOCHS = 5
MAX_VECTOR_TEXT_MB = 100
VECTOR_THREADS = 1  # floret: more than 1 is faster but not deterministic

# ---- mentions, training ---------------------------------------------------------------------------------------------
MAX_TRAIN_MENTIONS = 200_000
MAX_DEV_MENTIONS = 10_000
CONFIG = "configs/nel.cfg"
MAX_EPOCHS = 2

# ---- the raw-text linker ------------------------------------------------------------------------------------------
DETECTOR_TEXT_MB = 50  # train article text on which each alias's link probability is counted
TUNE_DEV_ARTICLES = 300  # dev articles on which the detection and NIL thresholds are tuned
# Mention detection: alias (KB aliases by link probability), ner (spaCy `ner` from train-detector), both, or auto
# (the best of the three on dev). Wikipedia links an entity once per article, so a `ner` learns from partial
# annotation there: alias is the default; corpora annotated completely (NCBI-disease) do better with auto.
DETECTOR = "alias"
NER_CONFIG = "configs/ner.cfg"
DETECTOR_EPOCHS = 10
DETECTOR_TRAIN_TEXT_MB = 20  # paragraphs of train text for the `ner` detector
# The `ner` detector's labels: typed (each link span labelled with its target's coarse KB type) or single (one label)
DETECTOR_LABELS = "typed"
# A link span whose target has no type (not in the KB): generic (label ENTITY), missing (unannotated) or omit (not a
# mention). missing, by the numbers on dev of the default world (same training budget): ner detection F1 0.673 vs
# 0.652, typed F1 0.450 vs 0.310, type accuracy 0.669 vs 0.476 with generic (which labels 40% of in-KB spans ENTITY)
DETECTOR_UNTYPED = "missing"
# Alias matches the `ner` did not find get the coarse type with the most prior mass among their alias's candidates
# (else they stay untyped, ENTITY, until the linker labels them with the linked entity's type). On dev of the default
# world: type accuracy 0.854 (alias), typed F1 0.668 (alias) and 0.477 vs 0.434 (both)
TYPED_ALIASES = True
LINK_BATCH_SIZE = 64
LINK_FORMAT = "auto"  # link input: auto (sniffed from the content), text, jsonl or json (an array)
PACKAGE_NAME = "wikiel_linker"
PACKAGE_VERSION = "0.1.0"

# ---- evaluation, learning curve -------------------------------------------------------------------------------------
EVAL_BATCH_SIZE = 64  # dev docs whose contexts are encoded in one model call (same encodings as one at a time)
CURVE_SIZES = "1000,2000,5000,10000,20000,50000,100000,200000"
CURVE_EPOCHS = 2
# Curve points trained at once, each in its own process (about 0.5 GB each on the default world; a point's result does
# not depend on how many run at once or in which order); 1 trains them one after the other in the step's process.
CURVE_PROCESSES = 2

# ---- benchmark ------------------------------------------------------------------------------------------------------
BENCH_ENTITIES = 20_000
BENCH_ARTICLES = 4_000
BENCH_SCALE = 4
BENCH_TRAIN_MENTIONS = 2_000
BENCH_INFERENCE_DOCS = 500
BENCH_WIKIPEDIA_MB = 200  # XML of the realistic Wikipedia dump (real excerpt pages, multistream bz2); 0 = skip
BENCH_WIKIDATA_MB = 200  # JSON of the realistic Wikidata dump built from the real records (~1 min to build)

# ---- implementation switches ---------------------------------------------------------------------------------------
# Set (to anything non-empty) to run the wikitext cleaner's Python passes instead of its compiled ones (same outputs).
PURE_PYTHON_ENV = "WIKIEL_PURE_PYTHON"
