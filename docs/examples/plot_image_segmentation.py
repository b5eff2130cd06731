"""
Image segmentation by colour
============================

Every pixel is a point in colour space (CIELAB, where distances follow perceived colour
differences); a mixture fitted to those points groups the pixels into segments of similar
colour, and each pixel's probabilities show where a segment is uncertain, at the edges.
:func:`gaussmix.segment_image` fits on a random sample of pixels, then labels every pixel.
"""

# %%
# Coffee, from scikit-image's bundled pictures
# --------------------------------------------
import matplotlib.pyplot as plt
from skimage import data
from skimage.transform import rescale

import gaussmix as gm

image = rescale(data.coffee(), 0.5, channel_axis=-1, anti_aliasing=True)
result = gm.segment_image(image, 4, max_pixels=20_000, random_state=0)
print(result.labels.shape, result.proba.shape)

# %%
# The result's own picture: the original, the segments painted in their mean colours, the
# boundaries and the uncertainty (one minus each pixel's largest probability).
result.plot()
plt.show()
