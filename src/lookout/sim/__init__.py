"""lookout.sim"""
