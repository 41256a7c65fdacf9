"""lookout.bus"""
