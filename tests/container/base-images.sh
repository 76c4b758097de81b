#!/usr/bin/env bash
# Makes the two base images the Containerfile starts from, where no image registry can be reached: Debian
# bookworm from its packages (debootstrap), and for the build stage the same plus this machine's Rust toolchain.
# They are tagged with the names the Containerfile pulls, so the Containerfile itself is the one users build.
# An image that exists already is kept. Needs root, buildah and debootstrap.
set -euo pipefail

rust_version=$(rustc --version | sed -E 's/^rustc ([0-9]+\.[0-9]+).*/\1/')
runtime_image=docker.io/library/debian:bookworm-slim
build_image=docker.io/library/rust:${rust_version}-slim-bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# import DIR NAME [buildah config options...]: the folder as the only layer of image NAME.
import() {
  local dir=$1 name=$2
  shift 2
  tar -C "$dir" --numeric-owner -cf "$work/root.tar" .
  local container
  container=$(buildah from scratch)
  buildah add --quiet "$container" "$work/root.tar" / >/dev/null
  buildah config --os linux --arch amd64 --cmd /bin/bash "$@" "$container"
  buildah commit --quiet --rm "$container" "$name" >/dev/null
  rm -f "$work/root.tar"
  echo "made $name"
}

bootstrap() {
  local dir=$1
  shift
  debootstrap --variant=minbase "$@" bookworm "$dir" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
}

if ! have "$runtime_image"; then
  bootstrap "$work/runtime"
  # What the official slim image leaves out: documentation, manual pages and translations.
  rm -rf "$work/runtime"/usr/share/{doc,man,info,groff,lintian,locale}/*
  import "$work/runtime" "$runtime_image"
  rm -rf "$work/runtime"
fi

if ! have "$build_image"; then
  # What the official rust:slim image holds: a C compiler and libc headers for crates that build C, and CA
  # certificates for crates.io.
  bootstrap "$work/build" --include=gcc,libc6-dev,ca-certificates
  sysroot=$(rustc --print sysroot)
  mkdir -p "$work/build/usr/local/rust/bin" "$work/build/usr/local/cargo"
  cp "$sysroot/bin/rustc" "$sysroot/bin/cargo" "$work/build/usr/local/rust/bin/"
  cp -a "$sysroot/lib" "$work/build/usr/local/rust/"
  rm -rf "$work/build/usr/local/rust/lib/rustlib/src"
  # Registries are reached the way this machine reaches them: through whatever proxy its CA bundle trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$work/build/etc/ssl/certs/ca-certificates.crt"
  import "$work/build" "$build_image" \
    --env CARGO_HOME=/usr/local/cargo \
    --env PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  rm -rf "$work/build"
fi
