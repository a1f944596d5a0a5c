module github.com/hugemap/mmap

go 1.24
