"""lookout.api"""
