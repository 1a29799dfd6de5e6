"""The pages every visitor meets: the home page, with what the signed-in person does next, and
the footer's pages (the privacy notice, the accessibility statement, help).

The home page lists the places of the platform the visitor's roles open, each with what is
done there, decided link by link like every other page (``kentra.platform.web.links``): no
role sees a link it may not follow. The privacy notice names the controller of a
municipality's records (GDPR Art. 13): the municipality that runs the Community Centre.
"""
