"""App glue shared by every page: the sidebar model picker, cached recordings, error boxes and the app shell.
"""
