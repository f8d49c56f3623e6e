# SPDX-License-Identifier: GPL-2.0-only
# Sphinx configuration: sphinx-build -W -b html Documentation OUTDIR
project = 'FastRPC'
copyright = 'FastRPC authors'
master_doc = 'index'
root_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
