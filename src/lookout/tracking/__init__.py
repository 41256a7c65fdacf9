"""lookout.tracking"""
