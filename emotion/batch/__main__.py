"""python -m emotion.batch: the batch command (emotion.batch.job.main)."""

import sys

from .job import main

sys.exit(main())
