# hallmark's own image: the static hallmark binary, CA certificates and a non-root user on an
# empty base. No shell, no package manager and no public base image, so it builds offline.
#
# The context is not the repository: hack/image-context.sh prepares it (it builds the binary
# with CGO_ENABLED=0 -trimpath -ldflags "-s -w -X .../version.Version=..." and copies the CA
# bundle), and the build only copies files:
#
#   hack/image-context.sh /tmp/hallmark-image
#   hallmark build -f Dockerfile --tag REGISTRY/REPO:TAG /tmp/hallmark-image
#   hallmark release -f Dockerfile --context /tmp/hallmark-image --image REGISTRY/REPO
#
# Targets:
#   (default, the last stage)  the minimal image: runs as 65532:65532, HOME=/home/nonroot.
#   debug                      adds a static busybox (/busybox, /bin/sh) and runs as root, for CI
#                              systems that run job scripts with a shell inside the image
#                              (GitLab's docker executor; examples/gitlab), like kaniko's :debug.
# Both have ENTRYPOINT ["/usr/local/bin/hallmark"].

FROM scratch AS rootfs
ARG TARGETOS TARGETARCH TARGETVARIANT
COPY rootfs/ /
COPY --chown=65532:65532 home /home/nonroot
COPY --chmod=0755 bin/${TARGETOS}-${TARGETARCH}${TARGETVARIANT}/hallmark /usr/local/bin/hallmark
ENTRYPOINT ["/usr/local/bin/hallmark"]

FROM rootfs AS debug
ARG TARGETOS TARGETARCH TARGETVARIANT
COPY --chmod=0755 bin/${TARGETOS}-${TARGETARCH}${TARGETVARIANT}/busybox /busybox/busybox
RUN ["/busybox/busybox", "--install", "-s", "/busybox"]
RUN ["/busybox/busybox", "sh", "-c", "/busybox/mkdir -p /bin && /busybox/ln -s /busybox/sh /bin/sh"]
ENV PATH=/usr/local/bin:/busybox
# Stays root: GitLab checks the project out into a root-owned directory the job writes to.
USER 0:0

FROM rootfs
LABEL org.opencontainers.image.title="hallmark" \
      org.opencontainers.image.description="Build, push, sign and verify container images on BuildKit without a Docker daemon" \
      org.opencontainers.image.source="https://github.com/hallmark-dev/hallmark"
ENV HOME=/home/nonroot
USER 65532:65532
