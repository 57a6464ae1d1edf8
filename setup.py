"""The package list, found rather than written down (everything else is in pyproject.toml).

setuptools cannot combine ``packages.find`` with the zoo, which lives outside ``src/`` at the top
of the repository and is installed as ``aslsign.zoo``; so: every package under ``src/``, plus it.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages("src"), "aslsign.zoo"])
