"""lookout.rules"""
