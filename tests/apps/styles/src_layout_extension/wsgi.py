import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from recipes import create_app  # noqa: E402

app = create_app()
