import AIDE
print(AIDEVersion.current)
