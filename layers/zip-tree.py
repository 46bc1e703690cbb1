"""Zips a folder the same way every time: entries sorted by path, one fixed timestamp, Unix
modes only (no owner, no extra fields), so two builds of the same files give the same bytes.

    python3 zip-tree.py <folder> <out.zip> <source-date-epoch>

Entries are relative to <folder>: a Lambda layer zip holds bin/…, which Lambda unpacks to /opt/bin/….
"""
import os
import stat
import sys
import time
import zipfile


def entries(folder):
    for parent, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            path = os.path.join(parent, name)
            yield os.path.relpath(path, folder), path


def main(folder, out, epoch):
    # A zip stores a DOS date (local time, from 1980): the epoch as UTC, never earlier than 1980.
    stamp = time.gmtime(max(int(epoch), 315532800))[:6]
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in sorted(entries(folder)):
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, so external_attr's high half is read as a mode
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, 'rb') as source:
                archive.writestr(info, source.read(), compresslevel=9)


if __name__ == '__main__':
    main(*sys.argv[1:4])
