"""Views only: one renderer per format (text, markdown, drift), each taking a plan or
results and returning text.
"""
