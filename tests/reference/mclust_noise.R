# Reference fits of mclust's uniform noise component, for tests/test_noise_reference.py.
#
# Run by hand from the repository root (needs Debian's r-base-core, r-cran-mclust and
# r-cran-jsonlite; CI does not run it, the tests read the committed output):
#
#     Rscript tests/reference/mclust_noise.R
#
# It writes
#   tests/reference/noise_blobs.csv   the simulated data (made here with set.seed(2028), written
#                                     once with 4 decimals so R and Python read the same numbers)
#   tests/reference/quakes.csv        R's datasets::quakes, columns lat and long (1000 events off
#                                     Fiji: two dense arcs and scattered stray events)
#   tests/reference/mclust_noise.json one record per (data set, model, G), described below.
#
# Data sets: iris (tests/reference/iris.csv, the copy scikit-learn ships), Old Faithful (the CSV
# gaussmix ships, equal to R's faithful), noise_blobs (three Gaussian clusters of 100, 80 and 70
# rows plus 60 rows uniform on [-10, 10]^2; column `label` is the truth, 0 = noise, and is not
# used by the fits) and quakes.
#
# The noise start is a deterministic rule, no random numbers: a row starts as noise when its
# squared Mahalanobis distance from the column means (sample covariance) is among the largest 5%
# (rank > ceiling(0.95 n)). mclust then agglomerates the other rows (its default hierarchical
# start) and runs EM with the noise column, with the tight tolerance of mclust_reference.R.
# Vinv is mclust's default, hypvol(X, reciprocal = TRUE): the reciprocal of the SMALLER of two
# box volumes, the bounding box of the columns (product of the column ranges) and the bounding
# box of the principal-component scores. Both volumes are recorded (`hypvol`, `box_volume`,
# `pca_box_volume`) because gaussmix's noise=True is specified as the product of column ranges.
#
# Each record: dataset, model, G, n, d, loglik (mclust's maximised log-likelihood, noise
# included), bic (mclust's sign: 2 loglik - df log n), df, Vinv, hypvol (= 1/Vinv), box_volume,
# pca_box_volume, pro (G + 1 mixing proportions, the noise proportion LAST), mean (G lists of d
# numbers), sigma (G d x d matrices, row by row), n_noise (rows classified as noise, mclust's
# class 0), n_noise_init (rows of the start's noise guess), mclust (its version). A (model, G)
# that mclust could not fit is left out and named in `failed`.
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

# --- data written by this script -------------------------------------------------------------
set.seed(2028)
centres <- rbind(c(-4, -3), c(3, -2), c(0, 4))
sizes <- c(100, 80, 70)
covs <- list(matrix(c(1.0, 0.6, 0.6, 1.0), 2), matrix(c(0.5, -0.2, -0.2, 1.5), 2),
             matrix(c(2.0, 0.0, 0.0, 0.4), 2))
blobs <- do.call(rbind, lapply(1:3, function(k) {
  z <- matrix(rnorm(2 * sizes[k]), ncol = 2) %*% chol(covs[[k]])
  cbind(sweep(z, 2, centres[k, ], "+"), k)
}))
noise_rows <- cbind(matrix(runif(2 * 60, -10, 10), ncol = 2), 0)
sim <- rbind(blobs, noise_rows)
sim <- sim[sample.int(nrow(sim)), ]
sim <- data.frame(x = round(sim[, 1], 4), y = round(sim[, 2], 4), label = as.integer(sim[, 3]))
write.csv(sim, "tests/reference/noise_blobs.csv", row.names = FALSE, quote = FALSE)
write.csv(datasets::quakes[, c("lat", "long")], "tests/reference/quakes.csv", row.names = FALSE,
          quote = FALSE)

datasets <- list(
  iris = as.matrix(read.csv("tests/reference/iris.csv")),
  old_faithful = as.matrix(read.csv("src/gaussmix/datasets/old_faithful.csv")),
  noise_blobs = as.matrix(read.csv("tests/reference/noise_blobs.csv")[, c("x", "y")]),
  quakes = as.matrix(read.csv("tests/reference/quakes.csv"))
)
cases <- list(c("VVV", 2), c("VVV", 3), c("EEE", 2), c("EEE", 3), c("VII", 3), c("EII", 3))
tight <- emControl(tol = c(1e-10, sqrt(.Machine$double.eps)))

noise_start <- function(X) {
  d2 <- mahalanobis(X, colMeans(X), cov(X))
  rank(d2, ties.method = "first") > ceiling(0.95 * nrow(X))
}
log_range_volume <- function(X) sum(log(apply(X, 2, function(col) diff(range(col)))))

records <- list()
failed <- character()
for (name in names(datasets)) {
  X <- unname(datasets[[name]])
  noise <- noise_start(X)
  for (case in cases) {
    model <- case[1]
    G <- as.integer(case[2])
    fit <- tryCatch(
      Mclust(X, G = G, modelNames = model, initialization = list(noise = noise),
             control = tight, verbose = FALSE),
      error = function(e) NULL)
    if (is.null(fit) || is.null(fit$loglik) || !is.finite(fit$loglik)) {
      failed <- c(failed, sprintf("%s %s G=%d", name, model, G))
      next
    }
    p <- fit$parameters
    mean <- matrix(p$mean, nrow = ncol(X))   # d x G
    sigma <- p$variance$sigma                  # d x d x G
    records[[length(records) + 1]] <- list(
      dataset = name, model = model, G = G, n = nrow(X), d = ncol(X),
      loglik = fit$loglik, bic = fit$bic, df = fit$df,
      Vinv = p$Vinv, hypvol = fit$hypvol,
      box_volume = exp(log_range_volume(X)),
      pca_box_volume = exp(log_range_volume(princomp(X)$scores)),
      pro = as.numeric(p$pro),
      mean = lapply(seq_len(G), function(k) mean[, k]),
      sigma = lapply(seq_len(G), function(k) lapply(seq_len(ncol(X)), function(i) sigma[i, , k])),
      n_noise = sum(fit$classification == 0),
      n_noise_init = sum(noise),
      mclust = as.character(packageVersion("mclust"))
    )
  }
}
out <- list(
  description = paste("mclust fits with a uniform noise component; made by",
                      "tests/reference/mclust_noise.R (see its header)"),
  noise_start = "squared Mahalanobis distance from the column means among the largest 5%",
  records = records,
  failed = failed
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), pretty = TRUE),
           "tests/reference/mclust_noise.json")
cat("wrote tests/reference/mclust_noise.json:", length(records), "fits;",
    length(failed), "failed\n")
