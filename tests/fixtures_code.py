"""Small realistic source files used by several tests."""

GEOMETRY = '''"""Plane geometry helpers."""

import math


def circle_area(radius):
    """Return the area of a circle with the given radius."""
    return math.pi * radius * radius


def distance(a, b):
    """Euclidean distance between two points given as (x, y) tuples."""
    return math.hypot(a[0] - b[0], a[1] - b[1])
'''

HTTP = '''"""HTTP utilities."""


def parseHTTPHeader(line):
    """Split one raw header line into a lower-cased name and its value."""
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


class RetryPolicy:
    """Decide how long to wait before retrying a failed request."""

    def __init__(self, attempts=3, backoff=0.5):
        self.attempts = attempts
        self.backoff = backoff

    def delay(self, attempt):
        """Exponential backoff delay in seconds for the given attempt number."""
        return self.backoff * (2 ** attempt)
'''

STORAGE_GO = '''package storage

import "os"

// WriteFileAtomically writes data to a temporary file and renames it over path,
// so readers never observe a partially written file.
func WriteFileAtomically(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
'''

SECRET_VALUE = "AKIAQX7PLM2VN4HB9TZW"
SETTINGS = f'''"""Deployment settings."""

AWS_ACCESS_KEY_ID = "{SECRET_VALUE}"
DATABASE_URL = "postgres://app:Sup3rS3cretPassw0rd@db.internal/app"
TIMEOUT_SECONDS = 30
'''
