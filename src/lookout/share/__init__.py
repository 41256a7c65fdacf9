"""lookout.share"""
