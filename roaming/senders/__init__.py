"""Our OCPI sender endpoints: objects we own (our drivers' tokens), which partners read from us
or ask us about. Receivers (`roaming.receivers`) are the other way round: objects partners own
and push to us. `roaming.urls` routes to both.
"""
