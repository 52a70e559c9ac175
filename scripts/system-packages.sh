#!/usr/bin/env bash
# Debian packages the app and its tests use on Linux: PortAudio for sounddevice,
# Xvfb/xdotool/PulseAudio for the end-to-end desktop test, Qt's X11 libraries,
# CJK fonts, Chromium for the /test page, TTS voices and recorded Mandarin syllables
# (gcin-voice) for test speech.
set -euo pipefail
pkgs=(libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins sox
      xvfb xdotool xclip imagemagick fonts-noto-cjk
      libegl1 libgl1 libx11-xcb1 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0
      libxkbcommon0 libxkbcommon-x11-0 libxcb1 libxcb-cursor0 libxcb-glx0 libxcb-icccm4
      libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0
      libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1
      chromium flite espeak-ng gcin-voice)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
