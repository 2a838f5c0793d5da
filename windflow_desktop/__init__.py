import warnings

__version__ = "0.1.0"

# asyncssh names DSA key classes at import; cryptography 51 deprecates them on access.
# WindFlow never makes or accepts a DSA key: the warning would only be noise on stderr.
warnings.filterwarnings("ignore", message="DSA is deprecated", module="asyncssh")
