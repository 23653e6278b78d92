"""``python -m recording_assets.sandbox --port 8765``"""

import sys

from recording_assets.sandbox.cli import main

sys.exit(main())
