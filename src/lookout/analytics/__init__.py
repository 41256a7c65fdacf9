"""lookout.analytics"""
