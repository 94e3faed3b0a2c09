"""`Asset` and `AssetAlias` (Airflow 2's `Dataset` and `DatasetAlias`): in a
DAG file an asset stands for its URI (`schedule=[Asset(...)]`, `outlets=`);
in task code, the keys of `outlet_events`."""


class Asset:
    def __init__(self, name=None, uri=None, group=None, extra=None, **kwargs):
        if name is None and uri is None:
            raise TypeError("Asset() needs a name or a uri")
        self.uri = uri if uri is not None else name
        self.name = name if name is not None else uri
        self.group = group
        self.extra = dict(extra or {})

    def __eq__(self, other):
        return isinstance(other, Asset) and other.uri == self.uri

    def __hash__(self):
        return hash(self.uri)

    def __repr__(self):
        return "Asset(%r)" % self.uri


class AssetAlias:
    def __init__(self, name, group=None):
        self.name = name
        self.group = group

    def __repr__(self):
        return "AssetAlias(%r)" % self.name


class Dataset(Asset):
    def __repr__(self):
        return "Dataset(%r)" % self.uri


class DatasetAlias(AssetAlias):
    pass
